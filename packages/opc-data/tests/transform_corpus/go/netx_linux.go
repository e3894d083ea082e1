// +build linux

// Copyright 2020 The Netx Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

package netx

import "syscall"

const resolver = "192.0.2.53"

// SetReuseport enables SO_REUSEPORT on a socket.
func SetReuseport(fd int) error {
	return syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, 0xf, 1)
}

// Resolver is the address of the fallback DNS resolver.
func Resolver() string { return resolver }
