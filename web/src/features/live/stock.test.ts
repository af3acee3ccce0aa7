import { QueryClient } from "@tanstack/react-query";
import { describe, expect, it } from "vitest";
import { syncProductCache, useStock } from "./stock";

describe("syncProductCache", () => {
  it("writes learned availability into the cached product, and leaves uncached products alone", () => {
    const client = new QueryClient();
    client.setQueryData(["product", "P0000007"], { productId: "P0000007", title: "Lamp", available: 40, inStock: true });
    const stop = syncProductCache(client);

    useStock.getState().put("P0000007", 2, true);
    expect(client.getQueryData(["product", "P0000007"])).toMatchObject({ title: "Lamp", available: 2, inStock: true });
    useStock.getState().put("P0000007", 0, false);
    expect(client.getQueryData(["product", "P0000007"])).toMatchObject({ available: 0, inStock: false });
    useStock.getState().put("P0000008", 5, true);
    expect(client.getQueryData(["product", "P0000008"])).toBeUndefined();

    stop();
    useStock.getState().put("P0000007", 9, true);
    expect(client.getQueryData(["product", "P0000007"])).toMatchObject({ available: 0 });
  });
});
