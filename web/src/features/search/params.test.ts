import { describe, expect, it } from "vitest";
import { parseSearch, stringifySearch } from "../../lib/search-params";
import { validateSearchQuery } from "./params";

describe("search params in the URL", () => {
  it("repeats keys for lists and round-trips", () => {
    const s = stringifySearch({ q: "desk lamp", brand: ["Acme", "Zeta"], priceMin: 2500, inStock: true, sort: undefined });
    expect(s).toBe("?q=desk+lamp&brand=Acme&brand=Zeta&priceMin=2500&inStock=true");
    expect(validateSearchQuery(parseSearch(s))).toEqual({
      q: "desk lamp",
      category: undefined,
      brand: ["Acme", "Zeta"],
      priceMin: 2500,
      priceMax: undefined,
      inStock: true,
      ratingMin: undefined,
      sort: undefined,
    });
    expect(validateSearchQuery(parseSearch("?ratingMin=4")).ratingMin).toBe(4);
  });

  it("drops bad values", () => {
    expect(validateSearchQuery(parseSearch("?priceMin=abc&sort=cheapest&brand=&inStock=no&ratingMin=9"))).toMatchObject({
      priceMin: undefined,
      sort: undefined,
      brand: undefined,
      inStock: undefined,
      ratingMin: undefined,
    });
    expect(stringifySearch({})).toBe("");
  });
});
