// cli.js: the AWS CLI command (or, for Simulator.* targets, the curl
// command) equivalent to one engine call, derived from the target and the
// JSON body alone.

export const ENDPOINT = "http://127.0.0.1:8080";

const SERVICES = { TrentService: "kms", BaldrApiService: "cloudhsmv2" };

// Blob members travel base64-encoded in the JSON, but AWS CLI v1 and v2
// disagree on how to read a blob argument; both read binary from fileb://,
// so the command decodes the base64 into a file with bash's process
// substitution.
const BLOBS = new Set(["Plaintext", "CiphertextBlob"]);

export function kebab(name) {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1-$2").replace(/([A-Z])([A-Z][a-z])/g, "$1-$2").toLowerCase();
}

export function shellQuote(s) {
  return /^[A-Za-z0-9_.,:/=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

// cliFor derives the equivalent AWS CLI command (or curl for Simulator.*)
// from a target and its JSON body, generically.
export function cliFor(target, body) {
  const [service, op] = target.split(".");
  if (service === "Simulator") {
    return `curl -sS -H 'X-Amz-Target: ${target}' --data ${shellQuote(JSON.stringify(body))} ${ENDPOINT}/`;
  }
  const cli = SERVICES[service] || service.toLowerCase();
  const parts = ["aws", cli, kebab(op)];
  // AWS CLI v1 fetches an argument that starts with http:// or https://
  // (an external key store's XksProxyUriEndpoint) instead of passing it on.
  if (Object.values(body).some((v) => typeof v === "string" && /^https?:\/\//.test(v))) {
    parts.push("--cli-input-json", shellQuote(JSON.stringify(body)), "--endpoint-url", ENDPOINT);
    return parts.join(" ");
  }
  for (const [key, value] of Object.entries(body)) {
    const flag = `--${kebab(key)}`;
    if (typeof value === "boolean") parts.push(value ? flag : `--no-${kebab(key)}`);
    else if (BLOBS.has(key) && typeof value === "string") parts.push(flag, `fileb://<(echo ${shellQuote(value)} | base64 -d)`);
    else if (Array.isArray(value) && value.every((v) => typeof v !== "object")) parts.push(flag, ...value.map((v) => shellQuote(String(v))));
    else if (value !== null && typeof value === "object") parts.push(flag, shellQuote(JSON.stringify(value)));
    else parts.push(flag, shellQuote(String(value)));
  }
  parts.push("--endpoint-url", ENDPOINT);
  return parts.join(" ");
}
