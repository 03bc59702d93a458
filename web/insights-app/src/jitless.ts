/**
 * Imported first: zod must not probe `new Function` (its JIT) under the view's CSP, which
 * forbids eval, as hosts' CSPs do. The App constructor sets the same, but modules that load
 * before it already parse; the probe then logs a CSP violation in every host.
 */
import { z } from 'zod';

z.config({ jitless: true });
