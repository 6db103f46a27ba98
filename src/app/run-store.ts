// The lab's own runs (and the files loaded into it) kept in the browser's IndexedDB, so a reload keeps them
// until they are removed. Each is stored as its lab export (run-files.ts's JSON) with its short name and
// colour; reading one back goes through the same checks as a loaded file, so a damaged entry is refused
// (and said so), never drawn half-read.
const DB_NAME = 'catapult-lab';
const STORE = 'runs';

export interface StoredRun {
  id: number;
  name: string;
  color: string;
  /** Run in the lab, or loaded from a file (folder runs are never stored: they stay in their folder). */
  source: 'lab' | 'file';
  json: string;
}

const request = <T>(r: IDBRequest<T>) =>
  new Promise<T>((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });

export class RunStore {
  private constructor(private readonly db: IDBDatabase) {}

  /** The store, or null where the browser gives no IndexedDB (a private window may not): runs then last as long as the page. */
  static async open(): Promise<RunStore | null> {
    if (typeof indexedDB === 'undefined') return null;
    try {
      const open = indexedDB.open(DB_NAME, 1);
      open.onupgradeneeded = () => open.result.createObjectStore(STORE, { keyPath: 'id' });
      return new RunStore(await request(open));
    } catch {
      return null;
    }
  }

  private store(mode: IDBTransactionMode): IDBObjectStore {
    return this.db.transaction(STORE, mode).objectStore(STORE);
  }

  async all(): Promise<StoredRun[]> {
    return (await request(this.store('readonly').getAll())) as StoredRun[];
  }

  async put(run: StoredRun): Promise<void> {
    await request(this.store('readwrite').put(run));
  }

  async delete(id: number): Promise<void> {
    await request(this.store('readwrite').delete(id));
  }
}
