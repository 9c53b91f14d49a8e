/* The fixed parts of the timeline page: the head (style), the controls and legend placeholders,
 * and the drawing script. The page is head, the summary, body, the data (`const D = {...}`) in a
 * script element, then the script: sim_timeline.c writes them in that order. */
#ifndef SIM_TIMELINE_PAGE_H
#define SIM_TIMELINE_PAGE_H

extern const char sim_timeline_page_head[];
extern const char sim_timeline_page_body[];
extern const char sim_timeline_page_script[];

#endif
