# Included by the top Makefile. `make install` (this host), `make image` (./out/rootfs), `make image-test`
# (boots ./out/rootfs under systemd-nspawn and checks the agent from inside). All three need root.
IMAGE_OUT ?= out

.PHONY: install image image-test image-test-only

install:
	PREFIX=$(PREFIX) DOTNET=$(DOTNET) images/install.sh

# test-deps brings debootstrap and systemd-container (systemd-nspawn) with the other real parts.
image: test-deps
	DOTNET=$(DOTNET) images/build-image.sh $(IMAGE_OUT)

# Always tests a fresh build of the current tree; image-test-only re-boots the last build.
image-test: image
	images/test/image-test.sh $(IMAGE_OUT)

image-test-only:
	images/test/image-test.sh $(IMAGE_OUT)
