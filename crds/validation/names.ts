// Name rules: Kubernetes object names (RFC 1123, with kube-apiserver's messages) and broker destination names
// (Kafka topics, RabbitMQ exchanges). Each check returns the problems as detail strings (empty = valid).

const DNS1123_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN = `${DNS1123_LABEL}(\\.${DNS1123_LABEL})*`;
const LABEL_RE = new RegExp(`^${DNS1123_LABEL}$`);
const SUBDOMAIN_RE = new RegExp(`^${DNS1123_SUBDOMAIN}$`);

/** kube's IsDNS1123Subdomain: object names of all three kinds (like CRDs). */
export function dns1123SubdomainProblems(value: string): string[] {
  const problems: string[] = [];
  if (value.length > 253) problems.push('must be no more than 253 characters');
  if (!SUBDOMAIN_RE.test(value)) {
    problems.push(
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start " +
        `and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '${DNS1123_SUBDOMAIN}')`,
    );
  }
  return problems;
}

/** kube's IsDNS1123Label: namespaces and container names. */
export function dns1123LabelProblems(value: string): string[] {
  const problems: string[] = [];
  if (value.length > 63) problems.push('must be no more than 63 characters');
  if (!LABEL_RE.test(value)) {
    problems.push(
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end " +
        `with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '${DNS1123_LABEL}')`,
    );
  }
  return problems;
}

/** kube's IsValidPortName (IANA_SVC_NAME): container port names. */
export function portNameProblems(value: string): string[] {
  const problems: string[] = [];
  if (value.length < 1 || value.length > 15) problems.push('must be no more than 15 characters');
  if (!/^[-a-z0-9]+$/.test(value)) problems.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (value.includes('--')) problems.push("must not contain consecutive hyphens");
  if (value !== '' && !/[a-z]/.test(value)) problems.push('must contain at least one letter (a-z)');
  if (value.startsWith('-') || value.endsWith('-')) problems.push('must not begin or end with a hyphen');
  return problems;
}

/** Environment variable names, as kube accepts them (letters, digits, '_', '-', '.'; not starting with a digit). */
export function envVarNameProblems(value: string): string[] {
  return /^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(value)
    ? []
    : [
        "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must " +
          "not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is " +
          "'[-._a-zA-Z][-._a-zA-Z0-9]*')",
      ];
}

/** Kafka's topic name rule (kafka.common.internals.Topic.validate). */
export function kafkaTopicProblems(value: string): string[] {
  if (value === '.' || value === '..') return ['a Kafka topic name must not be "." or ".."'];
  const problems: string[] = [];
  if (value.length === 0) problems.push('a Kafka topic name must not be empty');
  if (value.length > 249) problems.push('a Kafka topic name must be no more than 249 characters');
  const bad = value.search(/[^a-zA-Z0-9._-]/);
  if (bad >= 0) {
    problems.push(
      `a Kafka topic name may only contain ASCII letters, digits, '.', '_' and '-' (found ${JSON.stringify(value[bad])} at position ${bad})`,
    );
  }
  return problems;
}

/** RabbitMQ exchange names: 1-255 bytes of UTF-8, no control characters, and not the reserved "amq." prefix. */
export function rabbitExchangeProblems(value: string): string[] {
  const problems: string[] = [];
  if (value.length === 0) problems.push('a RabbitMQ exchange name must not be empty (that is the default exchange)');
  if (new TextEncoder().encode(value).length > 255) problems.push('a RabbitMQ exchange name must be no more than 255 bytes');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) problems.push('a RabbitMQ exchange name must not contain control characters');
  if (value.startsWith('amq.')) problems.push('the "amq." prefix is reserved for the broker\'s own exchanges');
  return problems;
}

/** The destination-name rule for a protocol; a lenient common rule when the protocol is unknown. */
export function destinationProblems(protocol: unknown, value: string): string[] {
  if (protocol === 'kafka') return kafkaTopicProblems(value);
  if (protocol === 'rabbitmq') return rabbitExchangeProblems(value);
  if (value.trim() === '') return ['must not be empty'];
  return [];
}
