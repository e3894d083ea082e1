package org.example.crawler;

/**
 * Version and user-agent strings of the crawler.
 *
 * @since 1.2.3.4
 */
public final class VersionInfo {

    public static final String VERSION = "5.0.3.12";
    public static final String USER_AGENT = "foo-crawler/1.2.3.4 (+https://crawler.example.net)";
    public static final int[] PARTS = {1, 2, 3, 4};
    public static final String BUILD_DATE = "2024-01-15";

    private VersionInfo() {}

    public static String describe() {
        return USER_AGENT + " " + VERSION + " built " + BUILD_DATE;
    }
}
