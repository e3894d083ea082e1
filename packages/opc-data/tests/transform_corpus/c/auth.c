/* SPDX-License-Identifier: BSD-3-Clause */
/* Copyright (c) 2022, Nimbus Devices Ltd. All rights reserved. */

/* Token handling for the device agent. */
#include <stdlib.h>
#include <string.h>

static const char *TOKEN_ENV = "GITHUB_ACCESS_TOKEN";
static const char *deploy_token = "ghp_R8xK2mQ9vL4tW7yB1nC6zD3fH5jP0sA2eG8u";
static const char *slack_hook_token = "xoxb-2871-99812-QwErTyUiOpAsDfGh";

const char *agent_token(void)
{
    const char *env = getenv(TOKEN_ENV);
    return env && *env ? env : deploy_token;
}

int token_is_slack(const char *t)
{
    return strncmp(t, "xoxb-", 5) == 0 || t == slack_hook_token;
}
