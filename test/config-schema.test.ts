// The config's one schema (src/config/schema.ts): it accepts every preset, refuses what the validators used
// to refuse with the same kind of message, agrees with the lists of choices the engine acts on, types the
// lab's form and is printed as JSON Schema by `catapult schema`.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { checkConfigPart, configJsonSchema, describeField, trainConfigSchema } from '../src/config/schema.ts';
import { TASKS } from '../src/data/synthetic.ts';
import { MODEL_KINDS } from '../src/nn/models.ts';
import { NTK_METHOD_CHOICES } from '../src/ntk/method.ts';
import { OPTIMIZERS } from '../src/optim/optimizer.ts';
import { SCHEDULE_KINDS } from '../src/optim/schedules.ts';
import { PRESETS, resolvePreset } from '../src/run/presets.ts';
import { LR_UNITS } from '../src/run/train.ts';

describe('the config schema', () => {
  it('accepts every preset at both scales and in every variant', () => {
    for (const p of PRESETS) {
      for (const scale of ['quick', 'paper'] as const) {
        for (const variant of [undefined, ...Object.keys(p.variants ?? {})]) expect(() => checkConfigPart(trainConfigSchema, resolvePreset(p.name, { scale, variant }), ''), `${p.name} ${scale} ${variant}`).not.toThrow();
      }
    }
  });

  it('names the key, what it allows and what it got; suggests the key a misspelt one meant', () => {
    const base = resolvePreset('gd-catapult');
    const message = (over: Record<string, unknown>) => {
      try {
        checkConfigPart(trainConfigSchema, { ...base, ...over }, '');
        return 'accepted';
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(message({ stpes: 3 })).toMatch(/^config: unknown key "stpes" \(did you mean "steps"\?\); config takes data, model, loss/);
    expect(message({ batchSize: 'all' })).toBe('batchSize must be an integer >= 1 or "full", got "all"');
    expect(message({ steps: 1.5 })).toBe('steps must be an integer >= 0, got 1.5');
    expect(message({ seed: 2 ** 32 })).toBe('seed must be an integer in 0..4294967295, got 4294967296');
    expect(message({ loss: 'l1' })).toBe('loss must be one of mse, cross-entropy; got "l1"');
    expect(message({ model: { kind: 'resnet' } })).toBe('model.kind must be one of fcn, cnn, myrtle, wrn, vit, onnx, graph; got "resnet"');
    expect(message({ optimizer: { name: 'adam', betas: [0.9, 1] } })).toBe('optimizer.betas[1] must be a finite number >= 0 and < 1, got 1');
    expect(message({ schedule: { kind: 'decay', schedule: { kind: 'constant', lr: 1, max: 2 }, at: [], factor: 0.5 } })).toBe('schedule.schedule (constant): unknown key "max"; schedule.schedule (constant) takes kind, lr');
    expect(message({ tracking: { set: {} } })).toBe('tracking.set.examples must be given (an integer >= 1)');
    expect(message({ data: 5 })).toBe('data must be an object, got 5');
    expect(message({ stopAtLoss: Infinity })).toMatch(/^stopAtLoss must be a finite number > 0/);
  });

  it('offers the same choices the engine acts on', () => {
    const options = (key: string) => describeField(resolvePreset('gd-catapult', { set: [['tracking.batch', {}]] }), key)?.choices;
    expect(options('data.task')).toEqual([...TASKS]);
    expect(options('model.kind')).toEqual([...MODEL_KINDS]);
    expect(options('optimizer.name')).toEqual([...OPTIMIZERS]);
    expect(options('schedule.kind')).toEqual([...SCHEDULE_KINDS]);
    expect(options('lrUnit')).toEqual([...LR_UNITS]);
    expect(options('tracking.set.method')).toEqual([...NTK_METHOD_CHOICES]);
    expect(options('tracking.batch.method')).toEqual([...NTK_METHOD_CHOICES]);
    expect(describeField(resolvePreset('gd-catapult'), 'steps')).toEqual({ help: 'updates to make', number: { integer: true, min: 0 } });
    expect(describeField(resolvePreset('gd-catapult'), 'nosuch')).toBeNull();
  });

  it('is printed as JSON Schema by catapult schema, closed to unknown keys at every level', () => {
    const r = spawnSync(process.execPath, ['bin/catapult.js', 'schema'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const schema = JSON.parse(r.stdout);
    expect(schema).toEqual(JSON.parse(JSON.stringify(configJsonSchema())));
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(Object.keys(schema.properties)).toEqual(Object.keys(trainConfigSchema.shape));
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.data.oneOf.map((o: { properties: { kind: { const: string } } }) => o.properties.kind.const)).toEqual(['synthetic', 'sphere', 'mnist', 'arrays', 'cifar10', 'photos']);
    expect(schema.properties.stopAtLoss).toMatchObject({ type: 'number', exclusiveMinimum: 0 });
    // Every object of the schema says additionalProperties: false (graph layers excepted: checked with their shapes).
    const open: string[] = [];
    const walk = (node: unknown, at: string) => {
      if (node === null || typeof node !== 'object') return;
      const o = node as Record<string, unknown>;
      if (o.type === 'object' && o.properties && o.additionalProperties !== false) open.push(at);
      for (const [k, v] of Object.entries(o)) walk(v, `${at}/${k}`);
    };
    walk(schema, '#');
    expect(open).toEqual([]);
  });
});
