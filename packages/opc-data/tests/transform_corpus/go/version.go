//go:build !windows
// Copyright 2021 Gocrawl contributors. SPDX-License-Identifier: MIT

package gocrawl

import "fmt"

// Version of the crawler.
const Version = "1.2.3.4"

// UserAgent is sent with every request.
var UserAgent = "gocrawl/1.2.3.4 (+https://gocrawl.example.com)"

// FirmwareVersion is what the embedded build reports.
var firmwareVersion = "4.2.1.7"

func describe() string {
	return fmt.Sprintf("%s %s %s", Version, UserAgent, firmwareVersion)
}
