'use strict';
/**
 * Serverless plugin: removes the folders serverless-esbuild leaves in the temporary folder.
 *
 * serverless-esbuild (1.57) stages each zip in `<tmpdir>/<zip name>-<pid>-<ms>-<8 hex>` and then
 * removes the folder without `recursive`, which fails on the full folder, and the failure is
 * swallowed (https://github.com/floydspace/serverless-esbuild/pull/589). Every packaging, in a
 * deploy, `npm start` or a test, left one folder per function: 3.1 GB on one machine. After
 * packaging this removes the folders of this process (its pid is in their names) named after
 * this service's zips; once the upstream release removes them itself, there is nothing to find.
 *
 * Plain JavaScript: the framework loads plugins with require().
 */
const { readdirSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const path = require('node:path');

class EsbuildStagingCleanup {
  constructor(serverless) {
    this.serverless = serverless;
    const cleanUp = () => this.cleanUp();
    this.hooks = {
      'after:package:createDeploymentArtifacts': cleanUp,
      'after:deploy:function:packageFunction': cleanUp,
    };
  }

  /** The names of this process's staging folders for this service's zips (one per function, or the service's). */
  stagingFolders(entries) {
    const service = this.serverless.service;
    const zips = new Set([...service.getAllFunctions(), service.service]);
    const pattern = new RegExp(`^(.+)-${process.pid}-\\d+-[0-9a-f]{8}$`);
    return entries.filter((entry) => {
      const match = pattern.exec(entry);
      return match !== null && zips.has(match[1]);
    });
  }

  cleanUp() {
    const dir = tmpdir();
    let entries;
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const entry of this.stagingFolders(entries)) rmSync(path.join(dir, entry), { recursive: true, force: true });
  }
}

module.exports = EsbuildStagingCleanup;
