/**
 * Who may do what (Quay oracle only: Distribution runs without auth). The
 * token endpoint's answers are compared as their claims (BodyMode `token`:
 * the access granted after down-scoping, the subject and context), and every
 * registry request here follows the challenge → token → retry dance a
 * docker client does, so both sides' challenges are compared too.
 *
 * Reads go to initdb's repositories (devtable/simple private, public/publicrepo
 * public, devtable/shared with `public` write and `reader` read,
 * devtable/complex with `public` and devtable+dtrobot read, devtable/readonly
 * in READ_ONLY state, devtable/mirrored in MIRROR state with dtrobot its
 * robot); nothing here writes to them (a push token is asked for, never used).
 */
import type { Sequence, Session } from './session.js';
import { sleep } from '../../../test/lib/proc.js';

const tags = (s: Session, label: string, repo: string): Promise<unknown> => s.step(label, { path: `/v2/${repo}/tags/list`, compare: 'tags' });
const pull = (repo: string): string => `repository:${repo}:pull`;
const push = (repo: string): string => `repository:${repo}:pull,push`;

export const AUTH_SEQUENCES: readonly Sequence[] = [
  {
    id: 'auth-token-scopes',
    title: 'the token endpoint: no scope, pull, push and * on own, public, private and missing repositories; malformed scopes; another service',
    oracles: ['quay'],
    async run(s, repo) {
      await s.token('token without scope (login)', []);
      await s.token('token pull on an own repository that does not exist', [pull(repo())]);
      await s.token('token push on an own repository that does not exist (creates it)', [push(repo())]);
      await s.token('token pull,push,* on the own repository', [`repository:${repo()}:pull,push,*`]);
      await s.token('token for two repositories', [pull(repo()), push(repo('second'))]);
      await s.token('token pull on devtable/simple (private, not ours)', [pull('devtable/simple')]);
      await s.token('token push on public/publicrepo (public, not ours)', [push('public/publicrepo')]);
      await s.token('token push in a namespace that does not exist', [push('nosuchnamespace/x')]);
      await s.token('token push on an upper-case repository name', [push(`${s.ns}/Upper`)]);
      await s.token('token with a malformed scope', ['repository:no-actions']);
      await s.token('token with an unknown action', [`repository:${repo()}:delete`]);
      await s.token('token with a registry:catalog scope', ['registry:catalog:*']);
      await s.token('token for another service', [pull(repo())], 'registry.example.com');
      await s.step('GET /v2/ with a login token', { path: '/v2/', scopes: [] });
      await s.step('tags/list with a push token', { path: `/v2/${repo()}/tags/list`, compare: 'tags', scopes: [push(repo())] });
      await s.step('POST upload with a pull-only token', { method: 'POST', path: `/v2/${repo()}/blobs/uploads/`, scopes: [pull(repo())] });
      await s.step('POST upload with a token for another repository', { method: 'POST', path: `/v2/${repo()}/blobs/uploads/`, scopes: [push(repo('second'))] });
      await s.step('tags/list with a token for another repository', { path: `/v2/${repo()}/tags/list`, scopes: [push(repo('second'))] });
      await s.step('POST upload with no token', { method: 'POST', path: `/v2/${repo()}/blobs/uploads/`, noChallenge: true });
    },
  },
  {
    id: 'auth-anonymous',
    title: 'anonymous clients: with anonymous tokens (as docker) and with no token at all, on public, private and missing repositories',
    oracles: ['quay'],
    async run(s, repo) {
      const anon = s.as('anonymous');
      await anon.step('anonymous: GET /v2/', { path: '/v2/' });
      await tags(anon, 'anonymous: tags/list of public/publicrepo', 'public/publicrepo');
      await anon.step('anonymous: HEAD public/publicrepo:latest', {
        method: 'HEAD',
        path: '/v2/public/publicrepo/manifests/latest',
        headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
      });
      await tags(anon, 'anonymous: tags/list of devtable/simple (private)', 'devtable/simple');
      await tags(anon, 'anonymous: tags/list of a repository that does not exist', repo('nowhere'));
      await anon.step('anonymous: POST upload to a repository of ours', { method: 'POST', path: `/v2/${repo()}/blobs/uploads/` });
      await anon.token('anonymous: token pull on public/publicrepo', [pull('public/publicrepo')]);
      await anon.token('anonymous: token push on public/publicrepo', [push('public/publicrepo')]);
      await anon.token('anonymous: token without scope', []);
      const none = s.as('no-token');
      await none.step('no token: GET /v2/', { path: '/v2/' });
      await none.step('no token: HEAD /v2/', { method: 'HEAD', path: '/v2/' });
      await tags(none, 'no token: tags/list of public/publicrepo', 'public/publicrepo');
      await tags(none, 'no token: tags/list of devtable/simple (private)', 'devtable/simple');
      await tags(none, 'no token: tags/list of a repository that does not exist', repo('nowhere'));
      await none.step('no token: POST upload to a repository of ours', { method: 'POST', path: `/v2/${repo()}/blobs/uploads/` });
      await none.step('no token: DELETE a manifest', { method: 'DELETE', path: `/v2/${repo()}/manifests/latest` });
    },
  },
  {
    id: 'auth-users',
    title: 'users with read, write, admin and no permission; a superuser; a disabled and an unknown user',
    oracles: ['quay'],
    async run(s) {
      const pub = s.as('public');
      await tags(pub, 'public: tags/list of devtable/simple (no permission)', 'devtable/simple');
      await tags(pub, 'public: tags/list of devtable/shared (write)', 'devtable/shared');
      await pub.token('public: token push on devtable/shared (write)', [push('devtable/shared')]);
      await pub.token('public: token push on devtable/complex (read)', [push('devtable/complex')]);
      const reader = s.as('reader');
      await tags(reader, 'reader: tags/list of devtable/shared (read)', 'devtable/shared');
      await reader.token('reader: token push,* on devtable/shared (read)', [`repository:devtable/shared:pull,push,*`]);
      const fresh = s.as('freshuser');
      await tags(fresh, 'freshuser: tags/list of devtable/simple (no permission)', 'devtable/simple');
      await fresh.token('freshuser: token push in devtable (not theirs)', [push('devtable/newrepo')]);
      const dt = s.as('devtable');
      await tags(dt, 'devtable: tags/list of devtable/simple (admin)', 'devtable/simple');
      await dt.step('devtable: GET devtable/simple:latest', {
        path: '/v2/devtable/simple/manifests/latest',
        headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
        compare: 'bytes',
      });
      await tags(dt, 'devtable: tags/list of buynlarge/orgrepo (org admin)', 'buynlarge/orgrepo');
      await tags(dt, 'devtable: tags/list of randomuser/randomrepo (superuser, no permission)', 'randomuser/randomrepo');
      await dt.token('devtable: token push,* on devtable/readonly (READ_ONLY state)', [`repository:devtable/readonly:pull,push,*`]);
      await dt.token('devtable: token push on devtable/mirrored (MIRROR state)', [push('devtable/mirrored')]);
      await dt.token("devtable: token push in another user's namespace", [push('public/newrepo')]);
      const disabled = s.as('disabled');
      await disabled.token('disabled user: token pull on public/publicrepo', [pull('public/publicrepo')]);
      await tags(disabled, 'disabled user: tags/list of public/publicrepo', 'public/publicrepo');
      const unknown = s.as('unknown-user');
      await unknown.token('unknown user: token pull on public/publicrepo', [pull('public/publicrepo')]);
    },
  },
  {
    id: 'auth-robots-and-tokens',
    title: 'robot accounts (ns+robot with their token), app-specific tokens, OAuth tokens, wrong secrets',
    oracles: ['quay'],
    async run(s) {
      const robot = s.as('devtable+dtrobot');
      await robot.token('dtrobot: token without scope', []);
      await tags(robot, 'dtrobot: tags/list of devtable/complex (read)', 'devtable/complex');
      await tags(robot, 'dtrobot: tags/list of devtable/simple (no permission)', 'devtable/simple');
      await robot.token('dtrobot: token push on devtable/complex (read)', [push('devtable/complex')]);
      await robot.token('dtrobot: token push on devtable/mirrored (its mirror robot, write)', [push('devtable/mirrored')]);
      await robot.token('dtrobot: token push on a new devtable repository', [push('devtable/robotmade')]);
      await s.as('devtable+dtrobot-wrong-token').token('dtrobot with a wrong token: token pull on devtable/complex', [pull('devtable/complex')]);
      const cool = s.as('buynlarge+coolrobot');
      await tags(cool, 'coolrobot: tags/list of buynlarge/orgrepo', 'buynlarge/orgrepo');
      await cool.token('coolrobot: token push on buynlarge/orgrepo', [push('buynlarge/orgrepo')]);
      const app = s.as('app-token');
      await app.token('app token: token without scope', []);
      await tags(app, 'app token: tags/list of devtable/simple', 'devtable/simple');
      await s.as('app-token-wrong').token('wrong app token: token pull on devtable/simple', [pull('devtable/simple')]);
      const oauth = s.as('oauth-token');
      await oauth.token('OAuth token: token pull on devtable/simple', [pull('devtable/simple')]);
      await tags(oauth, 'OAuth token: tags/list of devtable/simple', 'devtable/simple');
    },
  },
  {
    id: 'auth-bearer',
    title: 'registry requests with a bearer token that is missing, empty, garbage, expired, for another audience or signed by an unknown key; Basic on /v2',
    oracles: ['quay'],
    async run(s) {
      for (const who of ['bearer-garbage', 'bearer-empty', 'bearer-expired', 'bearer-other-audience', 'bearer-unknown-key', 'basic-on-v2']) {
        const c = s.as(who);
        await c.step(`${who}: GET /v2/`, { path: '/v2/', compare: 'error' });
        await tags(c, `${who}: tags/list of public/publicrepo`, 'public/publicrepo');
        await tags(c, `${who}: tags/list of devtable/simple`, 'devtable/simple');
      }
    },
  },
  {
    id: 'auth-bad-credentials',
    title: 'a wrong password, at once again (login back-off), then the right one',
    oracles: ['quay'],
    isolated: true,
    async run(s, repo) {
      // Quay's back-off after n failures is 0.5 s · (2^n − 1) from the start of the last failed
      // attempt (data/model/user.py, util/backoff.py). The waits here do not depend on how long
      // either side takes to check a password.
      // Three failures leave a 3.5 s window, far longer than a password check takes under load.
      const wrong = s.as('owner-wrong-password');
      await wrong.token('wrong password: token push', [push(repo())]);
      await sleep(700);
      await wrong.token('wrong password again after the first back-off', [push(repo())]);
      await sleep(1700);
      await wrong.token('wrong password a third time after the second back-off', [push(repo())]);
      await wrong.token('wrong password at once (within the third back-off)', [push(repo())]);
      await sleep(4000);
      await s.token('right password after the back-off', [push(repo())]);
      await tags(s, 'tags/list with the right password', repo());
    },
  },
];
