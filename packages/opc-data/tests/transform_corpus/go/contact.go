// Copyright 2022 Fjord Systems AS
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.

// Package contact stores support contacts.
package contact

// Contact is a person or team to page.
type Contact struct {
	Name  string
	Email string
	Phone string
}

var Support = Contact{
	Name:  "Fjord support",
	Email: "help@fjord-systems.no",
	Phone: "+44 20 7946 0958",
}

var Example = Contact{Name: "Someone", Email: "someone@example.com", Phone: "n/a"}
