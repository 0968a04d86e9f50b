// The CLI commands the API activity panel shows, derived from a target and
// its JSON body (web/static/cli.js runs in Node as it is).

import assert from "node:assert/strict";
import { test } from "node:test";
import { cliFor, kebab, shellQuote } from "../static/cli.js";

test("member names become AWS CLI options", () => {
  assert.equal(kebab("CustomKeyStoreId"), "custom-key-store-id");
  assert.equal(kebab("CloudHsmClusterId"), "cloud-hsm-cluster-id");
  assert.equal(kebab("NewCustomKeyStoreName"), "new-custom-key-store-name");
  assert.equal(kebab("HsmType"), "hsm-type");
  assert.equal(kebab("XksProxyUriPath"), "xks-proxy-uri-path");
});

test("values are quoted for a POSIX shell only when they need it", () => {
  assert.equal(shellQuote("cks-1234567890abcdef0"), "cks-1234567890abcdef0");
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  assert.equal(shellQuote("<img src=x onerror=alert(1)>"), "'<img src=x onerror=alert(1)>'");
});

test("KMS, CloudHSM v2 and Simulator calls", () => {
  assert.equal(cliFor("TrentService.ConnectCustomKeyStore", { CustomKeyStoreId: "cks-1234567890abcdef0" }),
    "aws kms connect-custom-key-store --custom-key-store-id cks-1234567890abcdef0 --endpoint-url http://127.0.0.1:8080");
  assert.equal(cliFor("BaldrApiService.CreateCluster", { HsmType: "hsm2m.medium", SubnetIds: ["subnet-1", "subnet-2"] }),
    "aws cloudhsmv2 create-cluster --hsm-type hsm2m.medium --subnet-ids subnet-1 subnet-2 --endpoint-url http://127.0.0.1:8080");
  assert.equal(cliFor("BaldrApiService.DescribeClusters", { Filters: { clusterIds: ["cluster-abc"] } }),
    `aws cloudhsmv2 describe-clusters --filters '{"clusterIds":["cluster-abc"]}' --endpoint-url http://127.0.0.1:8080`);
  assert.equal(cliFor("TrentService.DescribeCustomKeyStores", {}), "aws kms describe-custom-key-stores --endpoint-url http://127.0.0.1:8080");
  assert.equal(cliFor("Simulator.AdvanceClock", { Seconds: 600 }),
    `curl -sS -H 'X-Amz-Target: Simulator.AdvanceClock' --data '{"Seconds":600}' http://127.0.0.1:8080/`);
});

test("a URL argument goes in --cli-input-json, which AWS CLI v1 does not fetch", () => {
  const body = { CustomKeyStoreName: "X", CustomKeyStoreType: "EXTERNAL_KEY_STORE", XksProxyConnectivity: "PUBLIC_ENDPOINT",
    XksProxyUriEndpoint: "https://xks.example.com", XksProxyUriPath: "/kms/xks/v1" };
  assert.equal(cliFor("TrentService.CreateCustomKeyStore", body),
    `aws kms create-custom-key-store --cli-input-json '${JSON.stringify(body)}' --endpoint-url http://127.0.0.1:8080`);
});

test("blobs are decoded into a file the AWS CLI reads with fileb://", () => {
  assert.equal(cliFor("TrentService.Encrypt", { KeyId: "alias/demo", Plaintext: "SGVsbG8=", EncryptionContext: { purpose: "demo" } }),
    `aws kms encrypt --key-id alias/demo --plaintext fileb://<(echo SGVsbG8= | base64 -d) --encryption-context '{"purpose":"demo"}' --endpoint-url http://127.0.0.1:8080`);
});
