import { useQuery } from "@tanstack/react-query";
import * as api from "../api/endpoints";
import type { CategoryNode } from "../api/types";

export function useCategories() {
  return useQuery({
    queryKey: ["categories"],
    queryFn: ({ signal }) => api.getCategories(signal),
    staleTime: 5 * 60_000,
    select: (d) => d.categories,
  });
}

/** The path from a department down to `categoryId`, or [] when unknown. */
export function categoryPath(tree: CategoryNode[] | undefined, categoryId: string): CategoryNode[] {
  if (!tree) return [];
  for (const node of tree) {
    if (node.categoryId === categoryId) return [node];
    const below = categoryPath(node.children, categoryId);
    if (below.length) return [node, ...below];
  }
  return [];
}

export function categoryName(tree: CategoryNode[] | undefined, categoryId: string): string {
  const path = categoryPath(tree, categoryId);
  return path[path.length - 1]?.name ?? categoryId.replace(/-/g, " ");
}
