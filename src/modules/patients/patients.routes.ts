import type { KithApp } from '../../platform/http/types.ts';
import type { Services } from '../../services.ts';

export async function patientsRoutes(app: KithApp, { services }: { services: Services }) {}
