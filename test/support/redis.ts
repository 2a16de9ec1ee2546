import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { freePort } from './ports.js';

/**
 * A real redis-server (Debian's package) on loopback, owned by the test so it
 * can be stopped and started again on the same port mid-test. No persistence:
 * the replay set only holds short-lived keys.
 */
export class RedisServer {
  private process: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort());
    await server.resume();
    return server;
  }

  /** Starts (again) on the same port. */
  async resume(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.process = child;
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${output}`)), 10_000);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(new Error(`redis-server could not be run (install Debian's redis-server package; .ci/run does): ${error.message}`));
      });
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }

  /** Kills the server the hard way, as a crash or a lost node would. */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
    this.process = undefined;
  }
}

/**
 * A TCP relay in front of a Redis server that notes the name of every command its clients send,
 * and can hold them (as a hung host would: connections stay open, nothing is answered) until let go.
 */
export class RedisRelay {
  /** Command names in the order clients sent them, held ones included. */
  readonly commands: string[] = [];
  private holding = false;
  private readonly held: Array<() => void> = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(target: RedisServer): Promise<RedisRelay> {
    let relay!: RedisRelay;
    const server = createServer((client) => {
      const upstream = connect(target.port, '127.0.0.1');
      const cut = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', cut).on('close', cut);
      upstream.on('error', cut).on('close', cut);
      upstream.on('data', (chunk: Buffer) => client.write(chunk));
      client.on('data', (chunk: Buffer) => {
        // RESP: each command is an array whose first bulk string is its name.
        for (const match of chunk.toString('latin1').matchAll(/\*\d+\r\n\$\d+\r\n([A-Za-z]+)\r\n/g)) relay.commands.push(match[1]!.toUpperCase());
        const send = () => void upstream.write(chunk);
        if (relay.holding) relay.held.push(send);
        else send();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    relay = new RedisRelay(server, (server.address() as AddressInfo).port);
    return relay;
  }

  /** Holds every command from now on, unanswered. */
  freeze(): void {
    this.holding = true;
  }

  /** Sends the held commands on, in order, and relays again. */
  thaw(): void {
    this.holding = false;
    for (const send of this.held.splice(0)) send();
  }

  async close(): Promise<void> {
    this.thaw();
    this.server.close();
    // Open client connections end with the proxies that hold them.
  }
}
