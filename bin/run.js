#!/usr/bin/env node
// Entry point of the published CLI: commands are loaded from dist/ through oclif.manifest.json,
// so `--help` and `--version` never import a command module.
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
