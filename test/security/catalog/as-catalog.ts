/**
 * The AS attack catalog, all of it (B1). Each runner (`../as-*.test.ts`) executes a slice; the
 * summary (`../as-catalog.test.ts`) checks the data and reports the counts.
 */
import { AUTHORIZATION_CODE_ATTACKS } from "./as-authorization-code.ts";
import { PROTOCOL_ATTACKS } from "./as-protocol.ts";
import { REDIRECT_URI_ATTACKS } from "./as-redirect-uri.ts";
import { REFRESH_TOKEN_ATTACKS } from "./as-refresh-token.ts";
import { CATEGORIES, type Attack, type Category } from "./as-types.ts";

export const AS_CATALOG: readonly Attack[] = [
  ...REDIRECT_URI_ATTACKS,
  ...AUTHORIZATION_CODE_ATTACKS,
  ...REFRESH_TOKEN_ATTACKS,
  ...PROTOCOL_ATTACKS,
];

export interface CategoryCount {
  category: Category;
  title: string;
  attacks: number;
  controls: number;
}

/** Per category: how many entries are attacks and how many are positive controls. */
export function countByCategory(entries: readonly Attack[]): CategoryCount[] {
  return (Object.keys(CATEGORIES) as Category[])
    .map((category) => {
      const inCategory = entries.filter((e) => e.category === category);
      const controls = inCategory.filter((e) => e.control).length;
      return { category, title: CATEGORIES[category], attacks: inCategory.length - controls, controls };
    })
    .filter((c) => c.attacks + c.controls > 0);
}

export { AUTHORIZATION_CODE_ATTACKS, PROTOCOL_ATTACKS, REDIRECT_URI_ATTACKS, REFRESH_TOKEN_ATTACKS };
export { CATEGORIES, type Attack, type Category } from "./as-types.ts";
