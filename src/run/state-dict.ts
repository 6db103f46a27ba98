// An imported model's weights as the state dict of the module it was exported from: the names, shapes and
// scales of the ONNX file (src/nn/onnx-import.ts stateDictOf), written as safetensors, which
// module.load_state_dict(sd, strict=True) takes once each tensor is a torch tensor (README: "Bring your own
// PyTorch model"). Run metadata goes in the file's __metadata__, never among the tensors.
import { encodeSafetensors, type Tensor } from '../io/safetensors.ts';
import { stateDictOf, type ImportedModel } from '../nn/onnx-import.ts';

export function encodeStateDict(model: ImportedModel, params: Float32Array, metadata: Record<string, string>): Uint8Array {
  const tensors: Record<string, Tensor> = {};
  for (const [key, e] of Object.entries(stateDictOf(model, params))) {
    tensors[key] = { dtype: e.dtype, shape: e.dims, data: e.dtype === 'I64' ? BigInt64Array.from(e.values, (v) => BigInt(v)) : Float32Array.from(e.values) };
  }
  return encodeSafetensors(tensors, metadata);
}
