/* Copyright (c) 2019-2023 Kestrel Software AB. All rights reserved. */
package se.kestrel.notify;

import java.time.LocalDate;

/** Sends reminder texts to the on-call engineer. */
public class Notifier {

    private static final String ONCALL_PHONE = "+49 30 901820";
    private static final String ONCALL_MAIL = "oncall@kestrel-software.se";
    private static final String START = "2024-01-15";
    private static final long MAX_RETRY_MS = 4155550132L;

    public LocalDate start() {
        return LocalDate.of(2024, 1, 15);
    }

    public String target() {
        return ONCALL_PHONE + " " + ONCALL_MAIL + " " + START + " " + MAX_RETRY_MS;
    }
}
