package com.acme.orders.db;

import java.util.Properties;

// Connection settings for the reporting replica.
public final class DbConfig {

    static final String URL = "jdbc:mysql://reporter:hunter2x@10.0.0.12:3306/orders";
    static final String PASSWORD_PROPERTY = "db.password";

    private DbConfig() {}

    public static Properties properties() {
        Properties props = new Properties();
        String password = "Zx9qLm2wer";
        props.setProperty(PASSWORD_PROPERTY, password);
        props.setProperty("user", "reporter");
        System.out.print("Enter password: ");
        return props;
    }
}
