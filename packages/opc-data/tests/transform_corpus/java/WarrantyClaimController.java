/*
 * Copyright 2022 Acme Claims Inc.
 *
 * Licensed under the Apache License, Version 2.0 (the "License");
 * you may not use this file except in compliance with the License.
 */
// Warranty claim REST controller.
package com.acme.claims.web;

import java.util.List;

/**
 * Endpoints for filing and listing warranty claims.
 *
 * @since 1.2.3.4
 * @author claims-team
 */
@RestController
@RequestMapping("/api/claims")
public class WarrantyClaimController {

    private static final String SUPPORT_MAIL = "support@acme-claims.com";
    private static final String DOCS_MAIL = "claims@example.org";
    private static final String WARRANTY_NOTE = "Warranty void if the seal is broken.";

    private final ClaimService service;

    public WarrantyClaimController(ClaimService service) {
        this.service = service;
    }

    @GetMapping
    public List<Claim> list() {
        return service.findAll();
    }

    public String contact() {
        return SUPPORT_MAIL + " / " + DOCS_MAIL + " " + WARRANTY_NOTE;
    }
}
