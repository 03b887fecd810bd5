// The development schema registry of `sr up` (cli/schema-registry: the Confluent Schema Registry REST API), in this
// process on a free loopback port, kept in memory, with what tests need around it: `stop()` / `start()` take it down
// and up on the same port with its schemas kept (a registry outage: connections refused), and `requests` /
// `authorizations` record what the clients asked.
import { RegistryStore } from '../../cli/schema-registry/store';
import { serveRegistry, type RunningRegistry } from '../../cli/schema-registry/server';

export class TestSchemaRegistry {
  /** "METHOD /path" of every request, in order. */
  readonly requests: string[] = [];
  /** The Authorization header of every request that had one. */
  readonly authorizations: string[] = [];
  readonly store: RegistryStore;
  private running: RunningRegistry | undefined;
  private boundPort = 0;

  /** `dir`: keep the schemas in DIR/schema-registry.json (as `sr up` does); default in memory. */
  constructor(dir?: string) {
    this.store = new RegistryStore(dir);
  }

  /** Starts a registry on a free loopback port. */
  static async start(dir?: string): Promise<TestSchemaRegistry> {
    const registry = new TestSchemaRegistry(dir);
    await registry.start();
    return registry;
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `http://127.0.0.1:${this.boundPort}`;
  }

  /** (Re)starts listening, on the same port after a `stop()`. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = await serveRegistry(this.store, {
      port: this.boundPort,
      onRequest: (method, path, authorization) => {
        this.requests.push(`${method} ${path}`);
        if (authorization) this.authorizations.push(authorization);
      },
    });
    this.boundPort = this.running.port;
  }

  /** Stops listening (connections are refused) but keeps every schema, like a registry being restarted. */
  async stop(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    await running?.close();
  }
}
