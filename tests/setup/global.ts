/** Before any test: make sure the services are reachable (starting local ones if needed). */
import { ensureTestServices } from '../helpers/services.ts';

export default async function setup(): Promise<void> {
  await ensureTestServices();
}
