DROP TABLE admission_lanes;
DROP TABLE scrape_result_batches;
DROP TABLE scrape_jobs;
DROP TABLE sites;
DROP TABLE locations;
