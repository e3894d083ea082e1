package io.nimbus.agent;

/** Where the agent finds its credentials. */
final class Keys {

    static final String AWS_KEY = "AKIAZ3RT7QW2MXP4LKJD";
    static final String TOKEN_HEADER = "X-Auth-Token";
    static final String SECRET_NAME = "prod/db/credentials";
    static final String TOKEN_ENV_VAR = "NIMBUS_API_TOKEN";
    static final String API_KEY = "a8f5f167f44f4964e6c998dee827110c";

    private Keys() {}

    static String fromEnv() {
        String v = System.getenv(TOKEN_ENV_VAR);
        return v != null ? v : API_KEY;
    }
}
