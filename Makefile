# Socket Launcher: the two commands of the README, and the pieces they are made of.
#   make demo   builds what is stale and runs the demo on the network-namespace testbed
#   make test   builds what is stale and runs every test
export JAVA_HOME := /usr/lib/jvm/temurin-25-jdk-amd64
export PATH := $(JAVA_HOME)/bin:$(PATH)
MVN := mvn -B -ntp -Dstyle.color=never

SOURCES := $(shell find . \( -name target -o -name .git \) -prune -o -type f \( -name '*.java' -o -name '*.c' -o -name '*.h' -o -name pom.xml -o -name '*.properties' \) -print)
JAR := cli/target/launcher.jar
SETUP_STAMP := .setup-done

.PHONY: demo test build setup bench clean

demo: build
	bin/launcher demo

# A flaky test is rerun once and reported as a flake in the Surefire summary, not hidden.
test: setup
	$(MVN) verify -Dsurefire.rerunFailingTestsCount=1

build: setup $(JAR)

$(JAR): $(SOURCES)
	$(MVN) -q package -DskipTests

setup: $(SETUP_STAMP)

$(SETUP_STAMP): scripts/setup.sh
	scripts/setup.sh
	@touch $@

bench: build
	bin/launcher bench repair --json

clean:
	$(MVN) clean
	rm -f $(SETUP_STAMP)
