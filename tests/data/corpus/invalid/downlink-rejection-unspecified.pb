E12 œ²¶Å·3r^
$019b78ad-9340-7000-8000-000000000009	"4envelope.avl.position.lat: 91.5 out of range -90..90