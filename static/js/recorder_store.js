// Keeps a recording's parts in the browser (IndexedDB) until the server has confirmed them, so that a
// reload, a crashed tab or a lost connection loses nothing already recorded. Where IndexedDB cannot be
// opened (some private windows) the parts are kept in memory: uploads still work, a reload loses them.

const DB_NAME = "sessionscribe-recorder";
const DB_VERSION = 1;
const PARTS = "parts"; // {session, n, blob, seconds}, keyed by [session, n]
const RECORDINGS = "recordings"; // {session, stopped, startedAt}, keyed by session

function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function openDatabase() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains(PARTS)) db.createObjectStore(PARTS, { keyPath: ["session", "n"] });
      if (!db.objectStoreNames.contains(RECORDINGS)) db.createObjectStore(RECORDINGS, { keyPath: "session" });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
    request.onblocked = () => reject(new Error("IndexedDB is blocked by another tab"));
  });
}

function sessionRange(session) {
  return IDBKeyRange.bound([session, 0], [session, Number.MAX_SAFE_INTEGER]);
}

class DatabaseStore {
  constructor(db) {
    this.db = db;
    this.durable = true;
  }

  async run(storeName, mode, work) {
    const transaction = this.db.transaction(storeName, mode);
    const finished = new Promise((resolve, reject) => {
      transaction.oncomplete = resolve;
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error || new Error("IndexedDB transaction aborted"));
    });
    const result = await work(transaction.objectStore(storeName));
    await finished;
    return result;
  }

  putPart(session, n, blob, seconds) {
    return this.run(PARTS, "readwrite", (store) => done(store.put({ session, n, blob, seconds })));
  }

  getPart(session, n) {
    return this.run(PARTS, "readonly", (store) => done(store.get([session, n])));
  }

  deletePart(session, n) {
    return this.run(PARTS, "readwrite", (store) => done(store.delete([session, n])));
  }

  async partsOf(session) {
    const parts = await this.run(PARTS, "readonly", (store) => done(store.getAll(sessionRange(session))));
    return parts.map((part) => ({ n: part.n, seconds: part.seconds, size: part.blob.size }));
  }

  clearParts(session) {
    return this.run(PARTS, "readwrite", (store) => done(store.delete(sessionRange(session))));
  }

  putRecording(session, recording) {
    return this.run(RECORDINGS, "readwrite", (store) => done(store.put({ ...recording, session })));
  }

  getRecording(session) {
    return this.run(RECORDINGS, "readonly", (store) => done(store.get(session)));
  }

  deleteRecording(session) {
    return this.run(RECORDINGS, "readwrite", (store) => done(store.delete(session)));
  }
}

class MemoryStore {
  constructor() {
    this.parts = new Map();
    this.recordings = new Map();
    this.durable = false;
  }

  key(session, n) {
    return session + ":" + n;
  }

  async putPart(session, n, blob, seconds) {
    this.parts.set(this.key(session, n), { session, n, blob, seconds });
  }

  async getPart(session, n) {
    return this.parts.get(this.key(session, n));
  }

  async deletePart(session, n) {
    this.parts.delete(this.key(session, n));
  }

  async partsOf(session) {
    return [...this.parts.values()]
      .filter((part) => part.session === session)
      .sort((a, b) => a.n - b.n)
      .map((part) => ({ n: part.n, seconds: part.seconds, size: part.blob.size }));
  }

  async clearParts(session) {
    for (const part of await this.partsOf(session)) this.parts.delete(this.key(session, part.n));
  }

  async putRecording(session, recording) {
    this.recordings.set(session, { ...recording, session });
  }

  async getRecording(session) {
    return this.recordings.get(session);
  }

  async deleteRecording(session) {
    this.recordings.delete(session);
  }
}

export async function openStore() {
  if (!("indexedDB" in window)) return new MemoryStore();
  try {
    return new DatabaseStore(await openDatabase());
  } catch (error) {
    return new MemoryStore();
  }
}
