/** localStorage when the platform has it (and allows it); an in-memory stand-in otherwise. */
export function safeLocalStorage(): Storage {
  return usable(() => localStorage);
}

/** sessionStorage (this tab, kept across reloads) when allowed; an in-memory stand-in otherwise. */
export function safeSessionStorage(): Storage {
  return usable(() => sessionStorage);
}

function usable(storage: () => Storage): Storage {
  try {
    const s = storage();
    const probe = "__shop_probe__";
    s.setItem(probe, "1");
    s.removeItem(probe);
    return s;
  } catch {
    // absent, private mode or disabled storage: fall through
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
