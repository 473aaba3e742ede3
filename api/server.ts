/**
 * The only file that listens. On SIGINT/SIGTERM (or an uncaught error) close-with-grace closes the
 * app: new requests get 503, in-flight ones finish, then onClose hooks close the warehouse and the
 * Temporal connection. The delay bounds a close that hangs (e.g. a stuck keep-alive client).
 */
import closeWithGrace from 'close-with-grace';
import { applyLocalModeDefaults, loadConfig } from '../lib/config';
import { buildApp } from './app';

const CLOSE_GRACE_MS = 10_000;

async function main(): Promise<void> {
  applyLocalModeDefaults();
  const config = loadConfig();
  const app = buildApp({ config });

  closeWithGrace({ delay: CLOSE_GRACE_MS }, async ({ err, signal }) => {
    if (err) app.log.error({ err }, 'closing the API after an error');
    else app.log.info({ signal }, 'closing the API');
    await app.close();
  });

  await app.listen({ host: config.api.host, port: config.api.port });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
