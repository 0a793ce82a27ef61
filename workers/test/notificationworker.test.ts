/**
 * notificationworker's decisions that need no database: the event filters
 * (a repository admin's ref-regex runs under a time limit), a webhook URL's
 * credentials sent as Basic auth as Python requests sends them, and which
 * failures count against the notification (Quay's try block).
 */
import t from 'tap';
import type { Notifications } from '../../dal/portable/notifications.js';
import { createLogger } from '../../lib/log.js';
import { pythonJsonLoads } from '../../lib/python-json.js';
import { JobError } from '../queue-worker.js';
import { notificationJob, notificationSettings, shouldPerform } from '../programs/notificationworker.js';

const quiet = createLogger({}, { write: () => undefined });

t.test('build events: ref-regex as re.match, and a catastrophic pattern fails the filter in time', async (t) => {
  const data = { trigger_metadata: { ref: 'refs/heads/main' } };
  t.equal(shouldPerform('build_success', data, {}), true, 'no config: always');
  t.equal(shouldPerform('build_success', data, { 'ref-regex': 'refs/heads/.*' }), true);
  t.equal(shouldPerform('build_success', data, { 'ref-regex': 'heads' }), false, 'anchored at the start, as re.match');
  t.equal(shouldPerform('build_success', {}, { 'ref-regex': '.*' }), false, 'no ref: not a git build');
  t.equal(shouldPerform('build_success', data, { 'ref-regex': '(' }), false, 'a pattern that does not compile');
  const t0 = Date.now();
  t.equal(shouldPerform('build_success', { trigger_metadata: { ref: `${'a'.repeat(40)}!` } }, { 'ref-regex': '(a+)+$' }), false, 'a catastrophic pattern');
  t.ok(Date.now() - t0 < 5000, 'stopped by the time limit, not run to the end');
  t.equal(shouldPerform('vulnerability_found', { vulnerability: { priority: 'High' } }, { level: 2 }), true);
  t.equal(shouldPerform('vulnerability_found', { vulnerability: { priority: 'Low' } }, { level: 2 }), false);
});

function stub(method: string, config: Record<string, unknown>): { notifications: Notifications; recorded: boolean[] } {
  const recorded: boolean[] = [];
  const row = {
    id: 1,
    uuid: 'u',
    title: null,
    event: 'repo_push',
    method,
    configJson: JSON.stringify(config),
    eventConfigJson: '{}',
    numberOfFailures: 0,
    namespace: 'acme',
    repository: 'app',
  };
  const notifications = {
    enabledForDelivery: async () => row,
    recordDelivery: async (_k: string, _id: number, ok: boolean) => void recorded.push(ok),
  } as unknown as Notifications;
  return { notifications, recorded };
}

const body = (extra: Record<string, unknown> = {}): string => JSON.stringify({ notification_uuid: 'u', event_data: { repository: 'acme/app' }, performer_data: {}, ...extra });

t.test("a webhook URL's user:password goes as Basic auth, never in the URL", async (t) => {
  const { notifications, recorded } = stub('webhook', { url: 'https://ci%40corp:s%3Acret@hooks.example.com/build?x=1' });
  const seen: { url: string; auth: string | undefined }[] = [];
  const fake = (async (url: string | URL | Request, init?: RequestInit) => {
    seen.push({ url: String(url), auth: (init?.headers as Record<string, string>).Authorization });
    return new Response('ok', { status: 200 });
  }) as typeof fetch;
  const job = notificationJob({ notifications, settings: notificationSettings({}), log: quiet, fetch: fake });
  await job(pythonJsonLoads(body()) as Record<string, unknown>);
  t.same(seen, [{ url: 'https://hooks.example.com/build?x=1', auth: `Basic ${Buffer.from('ci@corp:s:cret').toString('base64')}` }]);
  t.same(recorded, [true], 'delivered: failures reset');
});

t.test('which failures count against the notification, as in Quay', async (t) => {
  const refused = stub('webhook', { url: 'https://hooks.example.com/x' });
  const failing = (async () => new Response('no', { status: 500 })) as typeof fetch;
  await t.rejects(
    notificationJob({ notifications: refused.notifications, settings: notificationSettings({}), log: quiet, fetch: failing })(pythonJsonLoads(body()) as Record<string, unknown>),
    JobError,
  );
  t.same(refused.recorded, [false], 'a failed delivery counts');
  const noData = stub('webhook', { url: 'https://hooks.example.com/x' });
  await t.rejects(notificationJob({ notifications: noData.notifications, settings: notificationSettings({}), log: quiet, fetch: failing })({ notification_uuid: 'u' }), JobError);
  t.same(noData.recorded, [], 'an item without event_data does not (Quay reads it outside its try block)');
  const local = stub('webhook', { url: 'http://[::1]:8080/x' });
  const never = (async () => {
    throw new Error('must not be called');
  }) as typeof fetch;
  await notificationJob({ notifications: local.notifications, settings: notificationSettings({ WEBHOOK_HOSTNAME_BLACKLIST: ['::1'] }), log: quiet, fetch: never })(
    pythonJsonLoads(body()) as Record<string, unknown>,
  );
  t.same(local.recorded, [true], 'an IPv6 host on the blacklist is dropped (no delivery, no failure), as Quay reads it without brackets');
});

t.test('NOTIFICATION_QUEUE_NAME names the queue', async (t) => {
  t.equal(notificationSettings({}).queueName, 'notification');
  t.equal(notificationSettings({ NOTIFICATION_QUEUE_NAME: 'notes' }).queueName, 'notes');
});
