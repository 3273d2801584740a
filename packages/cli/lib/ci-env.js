// @ts-check
/**
 * What GitHub Actions, GitLab CI and Jenkins tell a job about itself, as upload defaults.
 * @typedef {object} CiDefaults
 * @property {'github' | 'gitlab' | 'jenkins' | null} provider
 * @property {string} [commit]
 * @property {string} [branch]
 * @property {string} [build]
 * @property {number} [attempt]
 */

/** @param {(string | undefined)[]} values */
const first = (...values) => values.find((v) => v !== undefined && v !== '');

/**
 * @param {Record<string, string | undefined>} env
 * @returns {CiDefaults}
 */
export function ciDefaults(env) {
  if (env['GITHUB_ACTIONS'] === 'true') {
    const attempt = Number(env['GITHUB_RUN_ATTEMPT']);
    return prune({
      provider: 'github',
      commit: env['GITHUB_SHA'],
      // On pull requests GITHUB_REF_NAME is "123/merge"; the head branch is the useful one.
      branch: first(env['GITHUB_HEAD_REF'], env['GITHUB_REF_NAME']),
      build: env['GITHUB_RUN_ID'],
      attempt: Number.isInteger(attempt) && attempt > 0 ? attempt : undefined,
    });
  }
  if (env['GITLAB_CI'] === 'true') {
    return prune({
      provider: 'gitlab',
      commit: env['CI_COMMIT_SHA'],
      branch: first(
        env['CI_MERGE_REQUEST_SOURCE_BRANCH_NAME'],
        env['CI_COMMIT_BRANCH'],
        env['CI_COMMIT_REF_NAME'],
      ),
      // Every job of a pipeline shares its id, so a matrix of jobs lands in one run.
      build: env['CI_PIPELINE_ID'],
    });
  }
  if (env['JENKINS_URL'] !== undefined || env['BUILD_TAG']?.startsWith('jenkins-') === true) {
    return prune({
      provider: 'jenkins',
      commit: env['GIT_COMMIT'],
      branch: first(
        env['CHANGE_BRANCH'],
        env['BRANCH_NAME'],
        env['GIT_BRANCH']?.replace(/^origin\//, ''),
      ),
      build: first(env['BUILD_TAG'], env['BUILD_NUMBER']),
    });
  }
  return { provider: null };
}

/**
 * @param {{ [K in keyof CiDefaults]: CiDefaults[K] | undefined }} d
 * @returns {CiDefaults}
 */
function prune(d) {
  return /** @type {CiDefaults} */ (
    Object.fromEntries(Object.entries(d).filter(([, v]) => v !== undefined && v !== ''))
  );
}
