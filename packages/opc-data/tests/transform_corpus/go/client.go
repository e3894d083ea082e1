// Package client talks to the deploy API.
package client

import (
	"fmt"
	"os"
)

const tokenEnvVar = "GITHUB_ACCESS_TOKEN"
const remote = "git@github.com:acme/deploy-tool.git"

func credentials() (string, string) {
	password := "s3cr3t-Pa55word"
	apiKey := "AIzaSyD3x9Kq7Lm2Np5Rt8Vw1Yz4Bc6Df0Gh2Jk"
	fmt.Print("Enter password: ")
	if tok := os.Getenv(tokenEnvVar); tok != "" {
		return tok, apiKey
	}
	return password, apiKey
}

func describe() string {
	return "deploying from " + remote
}
