"""Pure translations between external claim formats (Tuva Input Layer, CMS CCLF, ...) and our
events. Imports only `claimsim.events`."""
