"""Publishing: release/ from source/ (release), the course gates (gates), the publish
command that runs them and releases (publish), and student zips (bundle)."""
