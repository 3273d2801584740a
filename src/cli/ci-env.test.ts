import { describe, expect, it } from 'vitest';
import { ciDefaults } from '@gatehouse/cli';

describe('CI defaults', () => {
  it('reads GitHub Actions, preferring the PR head branch', () => {
    expect(
      ciDefaults({
        GITHUB_ACTIONS: 'true',
        GITHUB_SHA: 'abc',
        GITHUB_REF_NAME: '12/merge',
        GITHUB_HEAD_REF: 'feature',
        GITHUB_RUN_ID: '999',
        GITHUB_RUN_ATTEMPT: '2',
      }),
    ).toEqual({ provider: 'github', commit: 'abc', branch: 'feature', build: '999', attempt: 2 });
    expect(
      ciDefaults({ GITHUB_ACTIONS: 'true', GITHUB_REF_NAME: 'main', GITHUB_HEAD_REF: '' }),
    ).toEqual({ provider: 'github', branch: 'main' });
  });

  it('reads GitLab CI, one run per pipeline', () => {
    expect(
      ciDefaults({
        GITLAB_CI: 'true',
        CI_COMMIT_SHA: 'def',
        CI_COMMIT_REF_NAME: 'dev',
        CI_PIPELINE_ID: '77',
      }),
    ).toEqual({
      provider: 'gitlab',
      commit: 'def',
      branch: 'dev',
      build: '77',
    });
  });

  it('reads Jenkins, without the remote prefix on the branch', () => {
    expect(
      ciDefaults({
        JENKINS_URL: 'http://ci',
        GIT_COMMIT: 'f00',
        GIT_BRANCH: 'origin/release',
        BUILD_TAG: 'jenkins-app-5',
      }),
    ).toEqual({
      provider: 'jenkins',
      commit: 'f00',
      branch: 'release',
      build: 'jenkins-app-5',
    });
  });

  it('knows nothing outside CI', () => {
    expect(ciDefaults({ HOME: '/root' })).toEqual({ provider: null });
  });
});
