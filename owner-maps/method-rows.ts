/**
 * The rows of one trie leaf by request method, with Werkzeug's fallbacks
 * (HEAD → GET; OPTIONS → OPTIONS, GET, else the first row) resolved once at
 * compile time, so a match picks its row with one array read instead of map
 * look-ups and fallbacks on every request.
 */

/** Methods with a slot; any other method (WebDAV verbs, scanners' inventions) is looked up by name. */
const SLOTTED = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** The slot of `method`, or -1. Called once per match. */
export function methodSlot(method: string): number {
  switch (method) {
    case 'GET':
      return 0;
    case 'HEAD':
      return 1;
    case 'POST':
      return 2;
    case 'PUT':
      return 3;
    case 'PATCH':
      return 4;
    case 'DELETE':
      return 5;
    case 'OPTIONS':
      return 6;
    default:
      return -1;
  }
}

export class MethodRows<L> {
  /** The rows as registered, in registration order. */
  readonly byName = new Map<string, L>();
  private readonly slots: (L | null)[] = SLOTTED.map(() => null);

  set(method: string, leaf: L): void {
    this.byName.set(method, leaf);
    for (let i = 0; i < SLOTTED.length; i++) this.slots[i] = this.resolve(SLOTTED[i]!);
  }

  /** The row answering `method` (whose slot is `slot`), fallbacks included. */
  get(slot: number, method: string): L | null {
    return slot >= 0 ? this.slots[slot]! : (this.byName.get(method) ?? null);
  }

  private resolve(method: string): L | null {
    const own = this.byName.get(method);
    if (own !== undefined) return own;
    if (method === 'HEAD') return this.byName.get('GET') ?? null;
    if (method === 'OPTIONS') return this.byName.get('GET') ?? this.byName.values().next().value ?? null;
    return null;
  }
}
