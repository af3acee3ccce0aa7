import { memoryStorage } from "../lib/storage";
import { setConfig } from "../config";

// Node has no localStorage: the persisted stores get an in-memory one.
if (typeof globalThis.localStorage === "undefined") {
  Object.defineProperty(globalThis, "localStorage", { value: memoryStorage(), configurable: true });
}

setConfig({ apiUrl: "http://api.test", liveUrl: null, auth: { mode: "dev", tokenUrl: "/dev/token" } });
