// Certificates, tokens and an RBAC policy for the security tests, generated with apiserver/pki into a temp dir.
// One client CA, one front-proxy CA (separate trust domains, as in a real cluster), a serving certificate, and client
// identities signed by each — plus a rogue CA nobody trusts.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createCertificateAuthority,
  issueClientCertificate,
  issueServingCertificate,
  type CertificateAuthority,
  type CertificatePair,
} from '../../apiserver/pki';
import { tempDir } from './tmp';

export const GROUP = 'streaming.tanzu.vmware.com';
export const VERSION = 'v1alpha1';
export const GROUP_VERSION_PATH = `/apis/${GROUP}/${VERSION}`;

/** Static tokens (kube CSV: token,user,uid,"groups"). */
export const TOKENS = {
  admin: 'admin-token-0123456789abcdef',
  reader: 'reader-token-0123456789abcdef',
  teamA: 'team-a-token-0123456789abcdef',
  bob: 'bob-token-0123456789abcdef',
};

/** A Stream in `namespace` as the security tests create it, to act on and to find in audit lines. */
export function streamManifest(name: string, namespace: string): Record<string, unknown> {
  return {
    apiVersion: `${GROUP}/v1alpha1`,
    kind: 'Stream',
    metadata: { name, namespace },
    spec: { protocol: 'kafka', keys: ['truckid'], storage: { clusterStream: `${name}-cluster-stream` } },
  };
}

/** The policy the RBAC tests run against. */
export const POLICY_YAML = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: sr-reader }
rules:
- apiGroups: ["${GROUP}"]
  resources: ["clusterstreams", "streams", "processors"]
  verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: sr-readers }
subjects:
- { kind: User, name: reader }
- { kind: Group, name: "sr:readers" }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: sr-reader }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: sr-editor }
rules:
- apiGroups: ["${GROUP}"]
  resources: ["streams", "processors", "processors/scale"]
  verbs: ["*"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: team-a-editors, namespace: team-a }
subjects:
- { kind: Group, name: "team-a" }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: sr-editor }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: orders-only, namespace: team-b }
rules:
- apiGroups: ["${GROUP}"]
  resources: ["streams"]
  resourceNames: ["orders"]
  verbs: ["get", "update", "patch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: bob-orders, namespace: team-b }
subjects:
- { kind: User, name: bob }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: orders-only }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: sr-status-writer }
rules:
- apiGroups: ["${GROUP}"]
  resources: ["processors/status", "streams/status", "clusterstreams/status"]
  verbs: ["get", "update", "patch"]
- nonResourceURLs: ["/metrics"]
  verbs: ["get"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: sr-controllers }
subjects:
- { kind: ServiceAccount, name: sr-controllers, namespace: streaming-runtime }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: sr-status-writer }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: sr-impersonate-readers }
rules:
- apiGroups: [""]
  resources: ["users"]
  resourceNames: ["reader"]
  verbs: ["impersonate"]
- apiGroups: [""]
  resources: ["groups"]
  resourceNames: ["sr:readers"]
  verbs: ["impersonate"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: carol-impersonates-readers }
subjects:
- { kind: User, name: carol }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: sr-impersonate-readers }
`;

export interface ClientIdentityFiles extends CertificatePair {
  certFile: string;
  keyFile: string;
}

export interface SecurityFixtures {
  dir: string;
  /** Trust this to verify the server. */
  servingCaPem: string;
  serving: CertificatePair & { certFile: string; keyFile: string };
  clientCaFile: string;
  frontProxyCaFile: string;
  tokenFile: string;
  policyFile: string;
  /** CN=admin, O=system:masters (client CA). */
  admin: ClientIdentityFiles;
  /** CN=alice, O=team-a (client CA). */
  alice: ClientIdentityFiles;
  /** CN=front-proxy-client (front-proxy CA): the aggregator's identity. */
  frontProxy: ClientIdentityFiles;
  /** CN=intruder (front-proxy CA) — signed by the right CA but not an allowed name. */
  frontProxyNotAllowed: ClientIdentityFiles;
  /** CN=front-proxy-client signed by the client CA: the right name from the wrong CA. */
  frontProxyWrongCa: ClientIdentityFiles;
  /** CN=admin, O=system:masters from a CA nobody trusts. */
  rogueAdmin: ClientIdentityFiles;
  remove(): void;
}

export function createSecurityFixtures(): SecurityFixtures {
  const dir = tempDir('sr-security-');
  const write = (name: string, text: string): string => {
    const path = join(dir.path, name);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
  const identity = (name: string, ca: CertificateAuthority, cn: string, organizations: string[] = []): ClientIdentityFiles => {
    const pair = issueClientCertificate(ca, { cn, organizations });
    return { ...pair, certFile: write(`${name}.crt`, pair.certPem), keyFile: write(`${name}.key`, pair.keyPem) };
  };

  const servingCa = createCertificateAuthority('sr-test-serving-ca');
  const clientCa = createCertificateAuthority('sr-test-client-ca');
  const frontProxyCa = createCertificateAuthority('sr-test-front-proxy-ca');
  const rogueCa = createCertificateAuthority('sr-test-rogue-ca');
  const serving = issueServingCertificate(servingCa, { hosts: ['localhost'], ips: ['127.0.0.1'] });

  return {
    dir: dir.path,
    servingCaPem: servingCa.certPem,
    serving: { ...serving, certFile: write('apiserver.crt', serving.certPem), keyFile: write('apiserver.key', serving.keyPem) },
    clientCaFile: write('client-ca.crt', clientCa.certPem),
    frontProxyCaFile: write('front-proxy-ca.crt', frontProxyCa.certPem),
    tokenFile: write(
      'tokens.csv',
      [
        `${TOKENS.admin},token-admin,uid-admin,"system:masters"`,
        `${TOKENS.reader},reader,uid-reader`,
        `${TOKENS.teamA},carol,uid-carol,"team-a,developers"`,
        `${TOKENS.bob},bob,uid-bob,""`,
      ].join('\n') + '\n',
    ),
    policyFile: write('policy.yaml', POLICY_YAML),
    admin: identity('admin', clientCa, 'admin', ['system:masters']),
    alice: identity('alice', clientCa, 'alice', ['team-a']),
    frontProxy: identity('front-proxy', frontProxyCa, 'front-proxy-client'),
    frontProxyNotAllowed: identity('intruder', frontProxyCa, 'intruder'),
    frontProxyWrongCa: identity('front-proxy-wrong-ca', clientCa, 'front-proxy-client'),
    rogueAdmin: identity('rogue-admin', rogueCa, 'admin', ['system:masters']),
    remove: dir.remove,
  };
}
