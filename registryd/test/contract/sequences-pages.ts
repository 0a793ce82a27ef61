/**
 * Listings page by page, following the `Link` each page gives as a client
 * does (tags/list; the catalog as different users see it).
 */
import type { Response, Sequence, Session } from './session.js';
import { OCI_MANIFEST, ociImage, putSetup } from './sequence-kit.js';

/** The path and query of a `<url>; rel="next"` Link, or null. */
export function nextLink(res: Response): string | null {
  const m = /<([^>]*)>\s*;\s*rel="?next"?/.exec(res.header('link'));
  if (!m) return null;
  const u = new URL(m[1]!, 'http://x');
  return u.pathname + u.search;
}

/** GETs `first`, then every page its Links lead to (at most `max`), each a step of its own. */
async function walk(s: Session, label: string, first: string, max: number, compare: 'tags' | 'json'): Promise<void> {
  let path: string | null = first;
  for (let page = 1; path !== null && page <= max; page++) {
    const res = await s.step(`${label}, page ${page}`, { path, compare });
    path = nextLink(res);
  }
}

export const PAGE_SEQUENCES: readonly Sequence[] = [
  {
    id: 'tags-pages',
    title: 'tags/list walked page by page through Link, n beyond the cap, negative n, last with spaces or empty',
    async run(s, repo) {
      const img = await ociImage(s, repo(), 'pages');
      for (const tag of ['g', 'b', 'e', 'a', 'f', 'c', 'd']) await putSetup(s, `PUT ${tag}`, repo(), tag, img.manifest, OCI_MANIFEST);
      const list = (label: string, q: string): Promise<Response> => s.step(label, { path: `/v2/${repo()}/tags/list${q}`, compare: 'tags' });
      await walk(s, 'tags/list?n=3', `/v2/${repo()}/tags/list?n=3`, 5, 'tags');
      await walk(s, 'tags/list?n=1', `/v2/${repo()}/tags/list?n=1`, 8, 'tags');
      await list('tags/list?n=101', '?n=101');
      await list('tags/list?n=1000', '?n=1000');
      await list('tags/list?n=-1', '?n=-1');
      await list('tags/list?n=2&last=%20b (space before)', '?n=2&last=%20b');
      await list('tags/list?n=2&last= (empty)', '?n=2&last=');
      await list('tags/list?n=2.5', '?n=2.5');
      await list('tags/list?n=3&n=1 (twice)', '?n=3&n=1');
    },
  },
  {
    id: 'catalog-pages',
    title: '_catalog walked page by page through Link (a namespace, or a registry pair, of its own)',
    isolated: true,
    async run(s) {
      for (const name of ['one', 'two', 'three', 'four', 'five']) {
        const img = await ociImage(s, `${s.ns}/${name}`, `catpage-${name}`);
        await putSetup(s, `PUT <ns>/${name}:latest`, `${s.ns}/${name}`, 'latest', img.manifest, OCI_MANIFEST);
      }
      await s.login();
      await walk(s, '_catalog?n=2', '/v2/_catalog?n=2', 5, 'json');
      await s.step('_catalog?n=101', { path: '/v2/_catalog?n=101', compare: 'json' });
      await s.step('_catalog?n=-1', { path: '/v2/_catalog?n=-1', compare: 'json' });
    },
  },
  {
    id: 'catalog-views',
    title: 'what anonymous clients, a superuser, users, a robot and an app token see in _catalog',
    oracles: ['quay'],
    global: true,
    async run(s) {
      const cat = async (who: string, q = '', label = `${who}: _catalog${q}`): Promise<Response> => {
        await s.as(who).login(`${who}: login`);
        return s.as(who).step(label, { path: `/v2/_catalog${q}`, compare: 'json' });
      };
      await cat('anonymous');
      await cat('no-token');
      await cat('public');
      await cat('reader');
      await cat('freshuser');
      await cat('devtable+dtrobot');
      await cat('app-token', '?n=3');
      const first = await cat('devtable', '?n=5');
      const next = nextLink(first);
      if (next !== null) await s.as('devtable').step('devtable: _catalog?n=5, page 2', { path: next, compare: 'json' });
      await cat('devtable', '?n=100');
      await cat('bearer-garbage');
    },
  },
];
