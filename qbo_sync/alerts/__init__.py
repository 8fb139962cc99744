"""Alerts that reach a person: rules read the sync tables (:mod:`.rules`), the service
remembers what was sent so each alert fires once, repeats at most every
``REPEAT_HOURS`` and is resolved once (:mod:`.service`), and notifiers deliver it
(:mod:`.notifiers`). README "Alerts" lists the rules and settings."""
