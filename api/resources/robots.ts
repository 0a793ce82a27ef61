/**
 * /api/v1 GET rows: API_ROBOT_READ (endpoints/api/robot.py with
 * robot_models_pre_oci.py and robot_models_interface.py).
 *
 * Robot tokens are stored encrypted (robotaccounttoken.token, AES-CCM under
 * DATABASE_SECRET_KEY) and shown decrypted, as Quay's EncryptedCharField does.
 */
import { FieldEncrypter } from '../../domain/auth/field-crypto.js';
import { parseSqlTime } from '../../dal/model/time.js';
import { RobotReads, type RobotListRow, type RobotRow } from '../../dal/portable/robots.js';
import { isAscii } from '../../dal/portable/orgs.js';
import { ModelError } from '../wire/errors.js';
import type { ApiCall } from '../call/context.js';
import { truthyBool } from '../call/params.js';
import type { ApiRouteRecord } from '../call/record.js';
import type { PyJson } from '../../lib/python-json.js';
import { teamAvatar } from '../../domain/avatar.js';
import { formatDate } from '../../domain/quay-dates.js';
import { requireUser } from './guards.js';
import { canViewAsSuperuser, jsonField } from './orgs.js';

const NO_ROBOT = 'Could not find robot with specified username';

const reads = (c: ApiCall): RobotReads => new RobotReads(c.svc.sql);

const date = (v: string | null): string | null => (v === null ? null : formatDate(parseSqlTime(v)));

let encrypterFor: { key: unknown; enc: FieldEncrypter } | null = null;

/** EncryptedCharField.decrypt with the config's DATABASE_SECRET_KEY. */
function decrypt(c: ApiCall, stored: string): string {
  const key = c.svc.settings.keys.DATABASE_SECRET_KEY;
  if (!encrypterFor || encrypterFor.key !== key) {
    if (typeof key !== 'string' && typeof key !== 'number' && typeof key !== 'bigint') throw new Error('DATABASE_SECRET_KEY is not set: robot tokens cannot be decrypted');
    encrypterFor = { key, enc: new FieldEncrypter(key) };
  }
  return encrypterFor.enc.decrypt(stored);
}

/** The @query_param specs of the robot lists, in @parse_args order (last decorator first). */
const LIST_ARGS = [
  { name: 'limit', help: 'If specified, the number of robots to return.', type: 'int' as const, default: null },
  { name: 'token', help: "If false, the robot's token is not returned.", type: truthyBool, default: true },
];

/** robots_list → list_entity_robot_permission_teams → to_dict (robot.py:91). */
async function robotsList(c: ApiCall, prefix: string, o: { includeToken: boolean; includePermissions: boolean; limit: number | null }): Promise<unknown> {
  const rows: RobotListRow[] = await reads(c).list(prefix, { limit: o.limit, includePermissions: o.includePermissions });
  const lastAccessedOn = c.svc.settings.feature('USER_LAST_ACCESSED');
  interface Entry {
    name: string;
    token: string | null;
    created: string | null;
    lastAccessed: string | null;
    description: string | null;
    teams: { name: string; avatar: unknown }[];
    repositories: string[];
  }
  const robots = new Map<string, Entry>();
  const robotTeams = new Set<string>();
  for (const row of rows) {
    let entry = robots.get(row.username);
    if (!entry) {
      entry = {
        name: row.username,
        token: o.includeToken && row.token ? decrypt(c, row.token) : null,
        created: row.creationDate,
        lastAccessed: lastAccessedOn ? row.lastAccessed : null,
        description: row.description,
        teams: [],
        repositories: [],
      };
      robots.set(row.username, entry);
    }
    if (o.includePermissions) {
      if (row.teamName != null) {
        const key = `${row.username}:${row.teamName}`;
        if (!robotTeams.has(key)) {
          robotTeams.add(key);
          entry.teams.push({ name: row.teamName, avatar: teamAvatar(row.teamName) });
        }
      }
      if (row.repositoryName != null && !entry.repositories.includes(row.repositoryName)) entry.repositories.push(row.repositoryName);
    }
  }
  const out = [...robots.values()].map((r) =>
    o.includePermissions
      ? {
          name: r.name,
          created: date(r.created),
          last_accessed: date(r.lastAccessed),
          teams: r.teams,
          repositories: r.repositories,
          description: r.description,
          ...(o.includeToken ? { token: r.token } : {}),
        }
      : { name: r.name, created: date(r.created), last_accessed: date(r.lastAccessed), description: r.description, ...(o.includeToken ? { token: r.token } : {}) },
  );
  return { robots: out };
}

/** model.user.lookup_robot: DataModelException (400) for a non-ASCII or unknown name. */
async function lookupRobot(c: ApiCall, username: string): Promise<RobotRow> {
  if (!isAscii(username)) throw new ModelError(NO_ROBOT);
  const robot = await reads(c).lookup(username);
  if (!robot) throw new ModelError(NO_ROBOT);
  return robot;
}

interface RobotDetail {
  readonly robot: RobotRow;
  readonly token: string;
  readonly description: string;
  readonly unstructured: PyJson;
}

/** get_robot_and_metadata: the robot, its metadata (created if missing) and its decrypted token. */
async function robotAndMetadata(c: ApiCall, parent: string, shortname: string): Promise<RobotDetail> {
  const robot = await lookupRobot(c, `${parent}+${shortname}`);
  const r = reads(c);
  const meta = await r.metadata(robot.id);
  const stored = await r.token(robot.id);
  // RobotAccountToken.get(...) without a row: DoesNotExist escapes (a 500).
  if (stored === null) throw new Error(`robot ${robot.username} has no robotaccounttoken row`);
  return { robot, token: decrypt(c, stored), description: meta.description, unstructured: jsonField(meta.unstructuredJson) };
}

/** Robot.to_dict(include_metadata=True, include_token=…). */
function robotView(d: RobotDetail, includeToken: boolean): unknown {
  return {
    name: d.robot.username,
    created: date(d.robot.creationDate),
    last_accessed: date(d.robot.lastAccessed),
    description: d.description,
    ...(includeToken ? { token: d.token } : {}),
    unstructured_metadata: d.unstructured,
  };
}

/** get_org_robot: the organisation must exist (else DataModelException "Organization does not exist: …"). */
async function orgRobot(c: ApiCall, orgname: string, shortname: string): Promise<RobotDetail> {
  const org = await c.svc.sql.one<{ id: number }>('SELECT u.id FROM "user" u WHERE u.username = @name AND u.organization = @yes', { name: orgname, yes: true });
  if (!org) throw new ModelError(`Organization does not exist: ${orgname}`);
  return robotAndMetadata(c, orgname, shortname);
}

/** get_robot_federation_config: the robot's federation_config, [] when unset or unreadable. */
async function federationConfig(c: ApiCall, robot: RobotRow): Promise<unknown> {
  const text = await reads(c).federationMetadata(robot.id);
  // FederatedLogin...get() without a row: DoesNotExist escapes (a 500).
  if (text === undefined) throw new Error(`robot ${robot.username} has no federatedlogin row`);
  let metadata: PyJson = {};
  try {
    metadata = jsonField(text);
  } catch {
    metadata = {};
  }
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) throw new Error('federatedlogin metadata_json is not an object');
  const v = (metadata as Record<string, PyJson>).federation_config;
  return v === undefined ? [] : v;
}

const permissionList = async (c: ApiCall, robotName: string): Promise<unknown> => ({
  permissions: (await reads(c).permissions(robotName)).map((p) => ({ repository: { name: p.repositoryName, is_public: p.visibility === 'public' }, role: p.role })),
});

// ---------------------------------------------------------------------------
// User robots (robot.py:117, :145, :353, :487)

async function getUserRobots(c: ApiCall): Promise<unknown> {
  const user = requireUser(c, 'admin');
  const args = c.args([
    ...LIST_ARGS,
    { name: 'permissions', help: 'Whether to include repositories and teams in which the robots have permission.', type: truthyBool, default: false },
  ]);
  return robotsList(c, user.username, { includeToken: args.token as boolean, includePermissions: args.permissions as boolean, limit: args.limit as number | null });
}

async function getUserRobot(c: ApiCall): Promise<unknown> {
  const user = requireUser(c, 'admin');
  return robotView(await robotAndMetadata(c, user.username, c.params.robot_shortname ?? ''), true);
}

async function getUserRobotPermissions(c: ApiCall): Promise<unknown> {
  const user = requireUser(c, 'admin');
  const d = await robotAndMetadata(c, user.username, c.params.robot_shortname ?? '');
  return permissionList(c, d.robot.username);
}

async function getUserRobotFederation(c: ApiCall): Promise<unknown> {
  const user = requireUser(c, 'admin');
  return federationConfig(c, await lookupRobot(c, `${user.username}+${c.params.robot_shortname ?? ''}`));
}

// ---------------------------------------------------------------------------
// Organisation robots (robot.py:222, :269, :377, :551)

async function getOrgRobots(c: ApiCall): Promise<unknown> {
  const orgname = c.params.orgname ?? '';
  const args = c.args([
    ...LIST_ARGS,
    { name: 'permissions', help: 'Whether to include repostories and teams in which the robots have permission.', type: truthyBool, default: false },
  ]);
  c.caller.loadGrants();
  if (!((await c.caller.isOrgMember(orgname)) || canViewAsSuperuser(c))) throw c.unauthorized();
  const isOrgAdmin = await c.caller.canAdminOrg(orgname);
  const fullSuperuser = c.svc.settings.feature('SUPERUSERS_FULL_ACCESS') && c.caller.isSuperUser();
  return robotsList(c, orgname, {
    includeToken: (isOrgAdmin || fullSuperuser) && (args.token as boolean),
    includePermissions: (isOrgAdmin || fullSuperuser || c.caller.isGlobalReadonlySuperUser()) && (args.permissions as boolean),
    limit: args.limit as number | null,
  });
}

async function getOrgRobot(c: ApiCall): Promise<unknown> {
  const orgname = c.params.orgname ?? '';
  c.caller.loadGrants();
  const isOrgAdmin = await c.caller.canAdminOrg(orgname);
  if (!(isOrgAdmin || canViewAsSuperuser(c))) throw c.unauthorized();
  const d = await orgRobot(c, orgname, c.params.robot_shortname ?? '');
  const includeToken = isOrgAdmin || (c.svc.settings.feature('SUPERUSERS_FULL_ACCESS') && c.caller.isSuperUser());
  return robotView(d, includeToken);
}

async function getOrgRobotPermissions(c: ApiCall): Promise<unknown> {
  const orgname = c.params.orgname ?? '';
  requireUser(c, 'admin');
  if (!((await c.caller.canAdminOrg(orgname)) || canViewAsSuperuser(c))) throw c.abort(403);
  const d = await orgRobot(c, orgname, c.params.robot_shortname ?? '');
  return permissionList(c, d.robot.username);
}

async function getOrgRobotFederation(c: ApiCall): Promise<unknown> {
  const orgname = c.params.orgname ?? '';
  c.caller.loadGrants();
  if (!((await c.caller.canAdminOrg(orgname)) || canViewAsSuperuser(c))) throw c.unauthorized();
  return federationConfig(c, await lookupRobot(c, `${orgname}+${c.params.robot_shortname ?? ''}`));
}

export const ROBOT_ROUTES: readonly ApiRouteRecord[] = [
  // ROUTE_0146 /api/v1/organization/{orgname}/robots
  { quayHandler: 'OrgRobotList.get', handle: getOrgRobots },
  // ROUTE_0148 /api/v1/organization/{orgname}/robots/{robot_shortname}
  { quayHandler: 'OrgRobot.get', handle: getOrgRobot },
  // ROUTE_0151 /api/v1/organization/{orgname}/robots/{robot_shortname}/federation
  { quayHandler: 'OrgRobotFederation.get', handle: getOrgRobotFederation },
  // ROUTE_0153 /api/v1/organization/{orgname}/robots/{robot_shortname}/permissions
  { quayHandler: 'OrgRobotPermissions.get', handle: getOrgRobotPermissions },
  // ROUTE_0341 /api/v1/user/robots
  { quayHandler: 'UserRobotList.get', handle: getUserRobots },
  // ROUTE_0343 /api/v1/user/robots/{robot_shortname}
  { quayHandler: 'UserRobot.get', handle: getUserRobot },
  // ROUTE_0346 /api/v1/user/robots/{robot_shortname}/federation
  { quayHandler: 'UserRobotFederation.get', handle: getUserRobotFederation },
  // ROUTE_0348 /api/v1/user/robots/{robot_shortname}/permissions
  { quayHandler: 'UserRobotPermissions.get', handle: getUserRobotPermissions },
];
