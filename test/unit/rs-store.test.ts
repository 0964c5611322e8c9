/** The in-memory file store's bounds: refusals are `FileStoreError`s and change nothing. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FileStore, FileStoreError, SEED_FILES } from "../../resource-server/store.ts";

describe("FileStore", () => {
  test("is seeded with the demo files, listed by name with UTF-8 sizes", () => {
    const store = new FileStore();
    assert.deepEqual(store.list().map((f) => f.name), Object.keys(SEED_FILES).sort());
    store.write("u.txt", "ü");
    assert.equal(store.list().find((f) => f.name === "u.txt")?.bytes, 2);
  });

  test("a full store refuses a new file but still replaces an existing one", () => {
    const store = new FileStore({ "a.txt": "a" }, { maxFiles: 1, maxFileBytes: 10 });
    assert.throws(() => store.write("b.txt", "b"), (e) => e instanceof FileStoreError && /store full/.test(e.message));
    assert.equal(store.write("a.txt", "replaced"), 8);
    assert.deepEqual(store.list(), [{ name: "a.txt", bytes: 8 }]);
  });

  test("content over the byte limit is refused (bytes, not characters)", () => {
    const store = new FileStore({}, { maxFiles: 5, maxFileBytes: 4 });
    assert.throws(() => store.write("x.txt", "éé€"), /file too large: 7 bytes/);
    assert.equal(store.write("x.txt", "éé"), 4);
  });

  test("names must be plain file names", () => {
    const store = new FileStore({});
    for (const name of ["", "../x", "a/b", ".hidden", "x".repeat(65), "a b", "con\0"]) {
      assert.throws(() => store.write(name, "x"), /invalid file name/, JSON.stringify(name));
    }
    assert.deepEqual(store.list(), []);
  });

  test("reading or deleting a missing file is a FileStoreError", () => {
    const store = new FileStore({});
    assert.throws(() => store.read("nope"), /no such file: nope/);
    assert.throws(() => store.delete("nope"), /no such file: nope/);
  });
});
