import { useQuery } from "@tanstack/react-query";
import type { CategoryNode } from "../../api/types";
import { categoriesQuery } from "./queries";

/** The department tree. */
export function useCategories() {
  return useQuery({ ...categoriesQuery(), select: (d) => d.categories });
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
