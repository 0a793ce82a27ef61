/**
 * Quay's require_xhr_from_browser: a GET whose User-Agent ua-parser reads as
 * one of a fixed list of browser families must carry
 * `X-Requested-With: XMLHttpRequest`. ua-parser's families are approximated
 * here for the agents that matter: desktop Chrome, Firefox, Safari and Opera
 * (and the old names in Quay's list) count; their mobile, headless and Edge
 * variants have other family names in ua-parser, so they do not, and neither
 * do curl, skopeo, podman, Go or Python clients.
 */
const EXCLUDED = /HeadlessChrome\/|Edg(e|A|iOS)?\/|Mobile|Android|CriOS\/|FxiOS\/|SamsungBrowser\/|YaBrowser\/|Vivaldi\/|UCBrowser\/|MSIE |Trident\//;
const FAMILIES: readonly RegExp[] = [
  /OPR\/|Opera[ /]/, // opera
  /Firefox\//,
  /Chrome\//,
  /Version\/[\d.]+.*Safari\//, // safari
  /SeaMonkey\//,
  /Konqueror\//,
  /Lynx\//,
  /^Links /,
  /Camino\//,
  /Galeon\//,
  /K-Meleon\//,
  /Netscape/,
];

/** True when Quay would take the agent for a browser. */
export function isBrowserAgent(ua: string | undefined): boolean {
  if (!ua) return false;
  if (EXCLUDED.test(ua)) return false;
  return FAMILIES.some((re) => re.test(ua));
}
