/** localStorage when the platform has it (and allows it); an in-memory stand-in otherwise. */
export function safeLocalStorage(): Storage {
  try {
    if (typeof localStorage !== "undefined") {
      const probe = "__shop_probe__";
      localStorage.setItem(probe, "1");
      localStorage.removeItem(probe);
      return localStorage;
    }
  } catch {
    // private mode or disabled storage: fall through
  }
  return memoryStorage();
}

export function memoryStorage(): Storage {
  const map = new Map<string, string>();
  return {
    get length() {
      return map.size;
    },
    clear: () => map.clear(),
    getItem: (k) => (map.has(k) ? (map.get(k) as string) : null),
    key: (i) => Array.from(map.keys())[i] ?? null,
    removeItem: (k) => void map.delete(k),
    setItem: (k, v) => void map.set(k, String(v)),
  };
}
