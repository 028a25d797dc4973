"""One router per concern: pages, images, study, jobs."""
