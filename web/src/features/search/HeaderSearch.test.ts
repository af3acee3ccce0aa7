import { describe, expect, it } from "vitest";
import { cycle } from "./HeaderSearch";

describe("the header search's highlighted suggestion", () => {
  it("goes down through the options, back to the typed words, and round again", () => {
    const seen = [];
    let i = -1;
    for (let k = 0; k < 5; k++) seen.push((i = cycle(i, 1, 3)));
    expect(seen).toEqual([0, 1, 2, -1, 0]);
  });

  it("goes up from the typed words to the last option", () => {
    expect(cycle(-1, -1, 3)).toBe(2);
    expect(cycle(0, -1, 3)).toBe(-1);
    expect(cycle(-1, 1, 0)).toBe(-1);
  });
});
