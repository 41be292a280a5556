// Schema pieces shared by provider config sections.
import { z } from 'zod';

export const ipv4 = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}$/, 'must be an IPv4 address (a.b.c.d)');
export const cidr = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'must be an IPv4 CIDR (a.b.c.d/n)');
